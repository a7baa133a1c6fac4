import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access } from './access.decorator';
import type { Principal } from './auditor';
import { CurrentPrincipal } from './current-auditor.decorator';
import { SignInOptionsService } from './sign-in-options.service';
import { principalResponse, toPrincipalResponse } from './dto/principal.dto';
import { signInOptionsResponse } from './dto/sign-in-options.dto';

@ApiTags('access')
@Controller('v1/access')
export class AccessController {
  constructor(private readonly signIn: SignInOptionsService) {}

  /** Public: a console has to know where to sign in before it holds any credential. Nothing in it is secret. */
  @Get('sign-in-options')
  @Access({ kind: 'public' })
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({ summary: "How the review console signs in: the identity providers, each with the console's public client, and whether API keys are offered (no authentication)" })
  @ApiResponse({ status: 200, standardSchema: signInOptionsResponse })
  signInOptions() {
    return this.signIn.get();
  }

  /** Any valid credential, whatever its scopes: a console checks a key or token at sign-in and shows what it may do. */
  @Get('me')
  @Access({ kind: 'auditor', scope: null })
  @ApiOperation({ summary: 'Who the credential is (API key, or subject and issuer of the access token) and the scopes it carries' })
  @ApiResponse({ status: 200, standardSchema: principalResponse })
  me(@CurrentPrincipal() principal: Principal) {
    return toPrincipalResponse(principal);
  }
}
