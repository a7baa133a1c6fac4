import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access } from './access.decorator';
import { SignInOptionsService } from './sign-in-options.service';
import { signInOptionsResponse } from './dto/sign-in-options.dto';

@ApiTags('access')
@Controller('v1/access')
export class SignInOptionsController {
  constructor(private readonly signInOptions: SignInOptionsService) {}

  /** Public: a console has to know where to sign in before it holds any credential. Nothing in it is secret. */
  @Get('sign-in-options')
  @Access({ kind: 'public' })
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({ summary: "How the review console signs in: the identity providers, each with the console's public client, and whether API keys are offered (no authentication)" })
  @ApiResponse({ status: 200, standardSchema: signInOptionsResponse })
  get() {
    return this.signInOptions.get();
  }
}
